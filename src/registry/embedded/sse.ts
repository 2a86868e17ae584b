export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * An incremental server-sent-events parser (the WHATWG field rules we need: id, event,
 * data, comments; CRLF or LF). Feed it chunks as they arrive; it calls `onEvent` per event.
 */
export function sseParser(onEvent: (event: SseEvent) => void): (chunk: string) => void {
  let buffer = '';
  let id: string | undefined;
  let event = '';
  let data: string[] = [];
  return (chunk) => {
    buffer += chunk;
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
      if (line === '') {
        if (data.length)
          onEvent({ ...(id === undefined ? {} : { id }), event: event || 'message', data: data.join('\n') });
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id') id = value;
    }
  };
}
