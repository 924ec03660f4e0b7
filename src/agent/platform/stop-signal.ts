/**
 * The Windows service host's stop request, agent side. A Windows service cannot send SIGTERM; the service host
 * (native/service-host) instead starts the agent with SWITCHYARD_SERVICE_STOP=stdin and a pipe as stdin, and on
 * an SCM stop or shutdown writes "stop\n" and closes the pipe. This module turns either (a "stop" line, or the
 * end of stdin, e.g. the host died) into one call of the agent's graceful stop — the same path SIGTERM/SIGINT
 * take. Without that variable stdin is left alone (an agent run from a console must not stop on a keypress).
 *
 * COORDINATOR: in the agent's composition root, next to the SIGTERM/SIGINT handlers:
 *   const stopWatch = watchServiceStop((reason) => agent.stop(reason));
 *   ... and call stopWatch() once the agent has stopped.
 */

export interface StopWatchOptions {
  env?: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadableStream & { unref?: () => void; pause?: () => void };
}

/** Calls onStop at most once; returns a function that stops watching. Does nothing unless SWITCHYARD_SERVICE_STOP=stdin. */
export function watchServiceStop(onStop: (reason: string) => void, opts: StopWatchOptions = {}): () => void {
  const env = opts.env ?? process.env;
  if (env.SWITCHYARD_SERVICE_STOP !== 'stdin') return () => {};
  const stdin = opts.stdin ?? process.stdin;
  let fired = false;
  let buffered = '';
  const fire = (reason: string) => {
    if (fired) return;
    fired = true;
    onStop(reason);
  };
  const onData = (chunk: Buffer | string) => {
    buffered += chunk.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line === 'stop') fire('service host: stop requested');
    }
    if (buffered.length > 4096) buffered = buffered.slice(-16); // nothing else is ever written; do not grow
  };
  const onEnd = () => fire('service host: stdin closed');
  const onError = () => fire('service host: stdin failed');
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  stdin.on('error', onError);
  return () => {
    stdin.removeListener('data', onData);
    stdin.removeListener('end', onEnd);
    stdin.removeListener('error', onError);
    stdin.pause?.();
    stdin.unref?.();
  };
}
