// A front-end team's first use of the generated client (openapi-typescript types + openapi-fetch).
// tests/contract/test_typescript_client.py generates ./nakoming.d.ts from /openapi.json and type-checks this file
// with `tsc --strict`: if the contract loses a type, an enum or a documented answer, this stops compiling.
import createClient from "openapi-fetch";
import type { components, paths } from "./nakoming";

type Commitment = components["schemas"]["CommitmentOut"];
type Problem = components["schemas"]["Problem"];
type Status = components["schemas"]["Status"];

const api = createClient<paths>({
  baseUrl: "http://127.0.0.1:8000",
  headers: { Authorization: "Bearer nk_example" },
});

export async function atRisk(theme: string): Promise<Commitment[]> {
  const { data, error } = await api.GET("/v1/commitments", {
    params: { query: { status: "at_risk", theme, sort: "-due_date", limit: 50 } },
  });
  if (error) {
    throw new Error(describe(error));
  }
  const items: Commitment[] = data.items;
  const next: string | null | undefined = data.next_cursor;
  void next;
  return items;
}

export async function moveDueDate(id: string, dueDate: string, etag: string): Promise<Status> {
  const { data, error, response } = await api.PATCH("/v1/commitments/{id}", {
    params: { path: { id }, header: { "if-match": etag } },
    body: { due_date: dueDate },
  });
  if (error) {
    // 409, 412, 422 ... all answer application/problem+json
    throw new Error(`${response.status}: ${describe(error)}`);
  }
  return data.status;
}

export async function create(title: string): Promise<string> {
  const { data, error } = await api.POST("/v1/commitments", {
    body: { title, due_date: "2026-07-01" },
    headers: { "Idempotency-Key": "d3b07384-d9a0-4c9b-8f8a-5c1e2e7f0a11" },
  });
  if (error) {
    throw new Error(describe(error));
  }
  return data.id;
}

export async function reasons(id: string): Promise<string[]> {
  const { data } = await api.GET("/v1/commitments/{id}/status", { params: { path: { id } } });
  return (data?.reasons ?? []).map((reason) => `${reason.rule}/${reason.severity}: ${reason.message}`);
}

function describe(problem: Problem): string {
  return `${problem.title}${problem.detail ? `: ${problem.detail}` : ""}`;
}

export async function wrongOnPurpose(): Promise<void> {
  // The contract is precise enough to refuse these at compile time:
  await api.GET("/v1/commitments", {
    // @ts-expect-error "late" is not a status
    params: { query: { status: "late" } },
  });
  await api.GET("/v1/commitments", {
    // @ts-expect-error sort takes the documented fields only
    params: { query: { sort: "owner_name" } },
  });
  // @ts-expect-error a commitment needs a title
  await api.POST("/v1/commitments", { body: { due_date: "2026-07-01" } });
}
