// Node-RED settings for the ingest peer benchmark: headless (no editor, no admin API, no HTTP
// nodes), the flow from bench/peer/flow.json, node-postgres handed to function nodes.
module.exports = {
    uiHost: "127.0.0.1",
    uiPort: parseInt(process.env.NODE_RED_PORT || "1880", 10),
    httpAdminRoot: false,
    httpNodeRoot: false,
    flowFile: "flows.json",
    credentialSecret: false,
    functionExternalModules: false,
    functionGlobalContext: { pg: require(process.env.NODE_RED_PG_MODULE || "pg") },
    logging: { console: { level: "warn", metrics: false, audit: false } },
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
    runtimeState: { enabled: false },
};
