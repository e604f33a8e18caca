// An independent MCP client: the TypeScript SDK from npm, against
// `bot-bottle serve --http`. It prints what it saw as one JSON object; the
// Go test judges.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

const [base, token] = process.argv.slice(2);
const headers = { Authorization: `Bearer ${token}` };
const out = {};

async function exercise(name, transport) {
  const c = new Client({ name: `node-sdk-${name}`, version: "1.32.2" });
  await c.connect(transport);
  const r = {};
  r.server = c.getServerVersion();
  r.tools = (await c.listTools()).tools.map((t) => t.name).sort();
  const plan = await c.callTool({ name: "bottle_plan", arguments: { name: "demo" } });
  r.planHost = plan.structuredContent?.routes?.[0]?.host;
  r.planIsError = !!plan.isError;
  const bad = await c.callTool({ name: "bottle_plan", arguments: { manifest: "egress:\n  routes:\n    - hots: x\n" } });
  r.badIsError = !!bad.isError;
  r.badText = bad.content.map((x) => x.text).join("\n");
  const unknown = await c.callTool({ name: "egress_decide", arguments: { proposal_id: "p-nope", action: "approve" } });
  r.unknownIsError = !!unknown.isError;
  const list = await c.callTool({ name: "bottle_list", arguments: {} });
  r.bottles = list.structuredContent?.bottles;
  const res = await c.listResources();
  r.resources = res.resources.map((x) => x.uri).sort();
  await c.close();
  return r;
}

try {
  out.streamable = await exercise("streamable",
    new StreamableHTTPClientTransport(new URL(base + "/mcp"), { requestInit: { headers } }));
  out.sse = await exercise("sse", new SSEClientTransport(new URL(base + "/sse"), {
    requestInit: { headers },
    eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers ?? {}), ...headers } }) },
  }));
  try {
    const c = new Client({ name: "node-sdk-no-token", version: "1.32.2" });
    await c.connect(new StreamableHTTPClientTransport(new URL(base + "/mcp")));
    out.noTokenError = "";
  } catch (e) {
    out.noTokenError = String(e);
  }
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
}
console.log(JSON.stringify(out));
