// The SDK flow on openapi-typescript types and openapi-fetch, compiled with
// `tsc --strict` (tsconfig.json) and run by node: sign-up, an API key, leads
// submitted with it, listed and read with the user's token, and the approval
// of a workflow. Run by `sdk::typescript_client_*` (tests/api/sdk.rs) as
// `node flow.js <base-url> <run-id>`; `schema.d.ts` is generated from
// docs/openapi.json at test time.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

declare const process: { argv: string[]; exit(code: number): never };

type Lead = components["schemas"]["Lead"];
type Workflow = components["schemas"]["Workflow"];

function must<T>(data: T | undefined, error: unknown, what: string): T {
  if (data === undefined) {
    throw new Error(`${what} failed: ${JSON.stringify(error)}`);
  }
  return data;
}

async function main(base: string, run: string): Promise<void> {
  const anonymous = createClient<paths>({ baseUrl: base });
  const signup = await anonymous.POST("/api/v1/auth/register", {
    body: {
      email: `owner-${run}@typescript.example`,
      name: "Ada Owner",
      password: "correct horse battery staple",
      organization: { name: `ts-${run}` },
    },
  });
  const registered = must(signup.data, signup.error, "register");
  const bearer = { Authorization: `Bearer ${registered.tokens.accessToken}` };
  const user = createClient<paths>({ baseUrl: base, headers: bearer });

  const keyReply = await user.POST("/api/v1/api-keys", {
    body: { name: "website", scopes: ["leads:create"] },
  });
  const key = must(keyReply.data, keyReply.error, "create API key");
  const machine = createClient<paths>({ baseUrl: base, headers: { "X-Api-Key": key.secret } });

  const submitted: { lead: Lead; workflowId: string | null }[] = [];
  for (let n = 0; n < 3; n++) {
    const reply = await machine.POST("/api/v1/leads", {
      body: {
        email: `buyer${n}@bigcorp${n}.io`,
        name: "Sam Doe",
        company: "BigCorp Inc.",
        message: "We want a demo and pricing for 40 seats",
      },
    });
    const created = must(reply.data, reply.error, "submit lead");
    if (created.lead.status !== "pending") throw new Error(`status ${created.lead.status}`);
    submitted.push(created);
  }

  const page = await user.GET("/api/v1/leads", { params: { query: { limit: 10 } } });
  const leads = must(page.data, page.error, "list leads");
  const ids = new Set(leads.data.map((l) => l.id));
  if (ids.size !== 3 || !submitted.every((s) => ids.has(s.lead.id))) throw new Error("the list misses a lead");

  const first = submitted[0];
  if (first === undefined || first.workflowId === null) throw new Error("no workflow");
  const read = await user.GET("/api/v1/leads/{id}", { params: { path: { id: first.lead.id } } });
  const lead = must(read.data, read.error, "get lead");
  // A nullable field is `string | null` and always present.
  const company: string | null = lead.company;
  if (company !== "BigCorp Inc.") throw new Error(`company ${String(company)}`);

  const workflowId = first.workflowId;
  const deadline = Date.now() + 30_000;
  let workflow: Workflow;
  for (;;) {
    const reply = await user.GET("/api/v1/workflows/{id}", { params: { path: { id: workflowId } } });
    workflow = must(reply.data, reply.error, "get workflow");
    if (workflow.status === "awaiting_approval") break;
    if (Date.now() > deadline) throw new Error(`the workflow stayed ${workflow.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const approve = await user.POST("/api/v1/workflows/{id}/approve", {
    params: { path: { id: workflowId } },
    body: { note: "Go" },
  });
  const approved = must(approve.data, approve.error, "approve");
  if (approved.decision === null || !approved.decision.approved) throw new Error("not approved");
  const after = await user.GET("/api/v1/leads/{id}", { params: { path: { id: first.lead.id } } });
  if (must(after.data, after.error, "get lead").status !== "approved") throw new Error("lead not approved");
  console.log("typescript flow ok");
}

const [base, run] = [process.argv[2], process.argv[3]];
if (base === undefined || run === undefined) throw new Error("usage: node flow.js <base-url> <run-id>");
main(base, run).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
