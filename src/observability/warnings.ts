// kafkajs 2.2.4 (unmaintained) computes negative timer delays in its request queue; Node 24 warns
// on each (TimeoutNegativeWarning). The delay is clamped to 1 ms either way, so the warning is
// noise that would bury real ones. Every other warning still prints.
let installed = false;

export function installWarningFilter(): void {
  if (installed) return;
  installed = true;
  const defaults = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'TimeoutNegativeWarning') return;
    for (const listener of defaults) listener(warning);
  });
}
