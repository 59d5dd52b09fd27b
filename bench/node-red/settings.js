// Node-RED for the benchmark: no editor port outside loopback, no telemetry,
// credentials in plain JSON next to the flow (the bench writes them).
module.exports = {
  flowFile: 'flows.json',
  credentialSecret: false,
  uiHost: '127.0.0.1',
  uiPort: Number(process.env.NR_UI_PORT || 1880),
  httpAdminRoot: false,
  httpNodeRoot: false,
  logging: { console: { level: 'warn', metrics: false, audit: false } },
  diagnostics: { enabled: false },
  runtimeState: { enabled: false },
  telemetry: { enabled: false },
  editorTheme: { projects: { enabled: false } },
};
