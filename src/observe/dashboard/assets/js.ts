// The dashboard's script, served as /dashboard/app.js. Plain browser JavaScript in a raw
// string (no backticks or dollar-brace inside): no framework, no build step, no CDN.
// Every string that came from a registrant is inserted with textContent, never as HTML.
import { CORE_JS } from './js-core.js';
import { EVENTS_JS } from './js-events.js';
import { SCALING_JS } from './js-scaling.js';
import { SERVICES_JS } from './js-services.js';

/** The whole script, one IIFE; the parts share its scope (functions are hoisted). */
export const DASHBOARD_JS = `(function () {
${CORE_JS}
${SERVICES_JS}
${SCALING_JS}
${EVENTS_JS}
})();
`;
