import type { Autoscaler } from './autoscaler.js';

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * The autoscalers' state in the Prometheus text format, so that the Kubernetes HPA
 * (through an external-metrics adapter) or KEDA (Prometheus trigger) can act on
 * Tensile's decision instead of Tensile scaling by itself. Serve it from any HTTP
 * handler at /metrics with content type `text/plain; version=0.0.4`.
 */
export function autoscalerMetrics(autoscalers: readonly Autoscaler[]): string {
  const gauges = [
    [
      'tensile_autoscaler_desired_replicas',
      'Replica count the Tensile autoscaler wants.',
      (a: Autoscaler) => a.desired,
    ],
    [
      'tensile_autoscaler_current_replicas',
      'Replica count asked of the scaler at the last decision.',
      (a: Autoscaler) => a.lastDecision?.current,
    ],
    [
      'tensile_autoscaler_ready_instances',
      'Instances measured as ready at the last decision.',
      (a: Autoscaler) => a.lastDecision?.ready,
    ],
  ] as const;
  const lines: string[] = [];
  for (const [name, help, value] of gauges) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const a of autoscalers) {
      const v = value(a);
      if (v !== undefined) lines.push(`${name}{service="${escapeLabel(a.service)}"} ${v}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
