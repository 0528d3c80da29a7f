// A small hand-written client over the types that openapi-typescript generates from the
// served OpenAPI document (generated/api.ts, made by check.sh). It is only type-checked,
// never run: tsc fails when the document's shapes change in a way this client relies on,
// or when the generator emits invalid TypeScript.
import type { components, paths } from "./generated/api";

type Schemas = components["schemas"];

// ---------------------------------------------------------------------------------------
// Compile-time assertions.

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

// ---------------------------------------------------------------------------------------
// Errors: every operation answers 4XX and 5XX with problem JSON (RFC 9457).

export type Problem = Schemas["Problem"];
export type FieldError = Schemas["FieldError"];

export function describeProblem(problem: Problem): string {
  const fields = problem.errors.map((e: FieldError) => `${e.field}: ${e.message}`);
  const head = `${problem.status} ${problem.title} [${problem.code}] (${problem.type}): ${problem.detail}`;
  return fields.length === 0 ? head : `${head}\n  ${fields.join("\n  ")}`;
}

export type ApiResult<T> =
  | { ok: true; status: number; data: T }
  | { ok: false; status: number; problem: Problem | undefined };

// ---------------------------------------------------------------------------------------
// A typed fetch wrapper over `paths`.

type Method = "get" | "put" | "post" | "delete" | "patch";

/** The paths that have an operation for `M`. */
type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P][M] extends undefined ? never : P;
}[keyof paths];

type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

// The options are worked out for one operation at a time: `[O] extends [...]` keeps a union of operations (the
// generic `call` below) from being distributed over, which multiplies out past what the checker takes.
type PathOptions<O> = [O] extends [{ parameters: { path: infer PP } }] ? { path: PP } : { path?: undefined };
type QueryOptions<O> = [O] extends [{ parameters: { query?: infer Q } }] ? { query?: Q } : { query?: undefined };
type BodyOptions<O> = [O] extends [{ requestBody?: never }]
  ? { body?: undefined }
  : [O] extends [{ requestBody: { content: { "application/json": infer B } } }]
    ? { body: B }
    : [O] extends [{ requestBody?: { content: { "application/json": infer B } } }]
      ? { body?: B }
      : { body?: undefined };

export type CallOptions<O> = PathOptions<O> & QueryOptions<O> & BodyOptions<O> & { token?: string };

/** The JSON body of the 2XX answer; `unknown` when there is none, so callers must name it. */
export type SuccessJson<O> = O extends { responses: { "2XX": { content: { "application/json": infer B } } } }
  ? B
  : unknown;

export type ProblemJson<O> = O extends {
  responses: { "4XX": { content: { "application/problem+json": infer E } } };
}
  ? E
  : never;

type Scalar = string | number | boolean;
type QueryValue = Scalar | readonly Scalar[] | undefined;

function fillPath(template: string, params: Record<string, Scalar> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_whole, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new Error(`missing path parameter ${name} for ${template}`);
    return encodeURIComponent(String(value));
  });
}

// The document describes its list query parameters (`until`, `kind`, `types`) with
// style=form and explode=false: one parameter whose items are separated by commas.
function queryString(query: Record<string, QueryValue> | undefined): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    search.append(name, Array.isArray(value) ? value.map(String).join(",") : String(value));
  }
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

export async function call<M extends Method, P extends PathsWith<M>>(
  baseUrl: string,
  method: M,
  path: P,
  options: CallOptions<Op<P, M>>,
): Promise<ApiResult<SuccessJson<Op<P, M>>>> {
  const opts = options as {
    path?: Record<string, Scalar>;
    query?: Record<string, QueryValue>;
    body?: unknown;
    token?: string;
  };
  const headers: Record<string, string> = { accept: "application/json, application/problem+json" };
  if (opts.token !== undefined) headers["authorization"] = `Bearer ${opts.token}`;
  const init: RequestInit = { method: method.toUpperCase(), headers };
  if (opts.body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(opts.body);
  }
  const url = `${baseUrl.replace(/\/+$/, "")}${fillPath(path, opts.path)}${queryString(opts.query)}`;
  const response = await fetch(url, init);
  const type = response.headers.get("content-type") ?? "";
  if (response.ok) {
    const data: unknown = type.includes("json") ? await response.json() : undefined;
    return { ok: true, status: response.status, data: data as SuccessJson<Op<P, M>> };
  }
  const problem = type.includes("application/problem+json") ? ((await response.json()) as Problem) : undefined;
  return { ok: false, status: response.status, problem };
}

// ---------------------------------------------------------------------------------------
// GET /api/v1/courses: a page of the published catalogue.

type GetCourses = Op<"/api/v1/courses", "get">;
export type CourseQuery = NonNullable<GetCourses["parameters"]["query"]>;
export type CoursePage = Schemas["PageOfCourseView"];
export type CourseView = Schemas["CourseView"];
export type Money = Schemas["Money"];

type _coursesAnswer = Expect<Equal<SuccessJson<GetCourses>, CoursePage>>;
type _coursesProblem = Expect<Equal<ProblemJson<GetCourses>, Problem>>;
type _coursesDirect = Expect<
  Equal<paths["/api/v1/courses"]["get"]["responses"]["2XX"]["content"]["application/json"], CoursePage>
>;

export function listCourses(baseUrl: string, query: CourseQuery = {}): Promise<ApiResult<CoursePage>> {
  return call(baseUrl, "get", "/api/v1/courses", { query });
}

function formatMoney(money: Money): string {
  return `${money.amount_cents} ${money.currency}`;
}

export async function catalogueSummary(
  baseUrl: string,
  search: string,
): Promise<{ total: number; lines: string[] } | Problem | undefined> {
  const answer = await listCourses(baseUrl, { search, sort: "rating", page: 1, limit: 20, min_rating: 4 });
  if (!answer.ok) return answer.problem;
  const page: CoursePage = answer.data;
  const lines = page.data.map((course: CourseView) => {
    const published: string = course.published_at ?? "unpublished";
    return `${course.id} ${course.title} (${course.level}, ${course.duration_hours} h) ${formatMoney(course.price)} by ${course.instructor.name}, ${published}`;
  });
  const total: number = page.total_results;
  return { total, lines };
}

// ---------------------------------------------------------------------------------------
// POST /api/v1/auth/login: log in by email or username.

type PostLogin = Op<"/api/v1/auth/login", "post">;
export type LoginBody = PostLogin["requestBody"]["content"]["application/json"];
export type Tokens = Schemas["Tokens"];

type _loginBody = Expect<Equal<LoginBody, Schemas["LoginBody"]>>;
type _loginAnswer = Expect<Equal<SuccessJson<PostLogin>, Schemas["DataOfTokens"]>>;

export const exampleLogin: LoginBody = { login: "ada@example.com", password: "correct horse battery staple" };

export async function login(baseUrl: string, body: LoginBody): Promise<ApiResult<Tokens>> {
  const answer = await call(baseUrl, "post", "/api/v1/auth/login", { body });
  if (!answer.ok) return answer;
  const tokens: Tokens = answer.data.data;
  const bearer: string = `${tokens.token_type} ${tokens.access_token}`;
  const expiresIn: number = tokens.expires_in;
  void bearer;
  void expiresIn;
  return { ok: true, status: answer.status, data: tokens };
}

// ---------------------------------------------------------------------------------------
// GET /api/v1/me/orders/{id}: one order; with `until`, once it has one of those statuses.

type GetOrder = Op<"/api/v1/me/orders/{id}", "get">;
export type OrderPath = GetOrder["parameters"]["path"];
export type OrderQuery = NonNullable<GetOrder["parameters"]["query"]>;
export type OrderView = Schemas["OrderView"];
export type OrderStatus = NonNullable<OrderQuery["until"]>[number];

type _orderPath = Expect<Equal<OrderPath, { id: string }>>;
type _orderAnswer = Expect<Equal<SuccessJson<GetOrder>, Schemas["DataOfOrderView"]>>;

export async function waitForOrder(
  baseUrl: string,
  token: string,
  id: string,
  until: OrderStatus[],
  waitSeconds?: number,
): Promise<ApiResult<OrderView>> {
  const query: OrderQuery = { until };
  if (waitSeconds !== undefined) query.wait = waitSeconds;
  const answer = await call(baseUrl, "get", "/api/v1/me/orders/{id}", { path: { id }, query, token });
  if (!answer.ok) return answer;
  const order: OrderView = answer.data.data;
  const total: Money = order.total;
  const paidAt: string | null | undefined = order.paid_at;
  const checkoutUrl: string | null | undefined = order.checkout_url;
  void total;
  void paidAt;
  void checkoutUrl;
  return { ok: true, status: answer.status, data: order };
}

// ---------------------------------------------------------------------------------------
// Negative checks: the wrapper must refuse calls that the document does not allow.

export function misuses(baseUrl: string): void {
  // @ts-expect-error: the path parameter `id` is required.
  void call(baseUrl, "get", "/api/v1/me/orders/{id}", {});
  // @ts-expect-error: `password` is required by LoginBody.
  void call(baseUrl, "post", "/api/v1/auth/login", { body: { login: "ada" } });
  // @ts-expect-error: LoginBody has no property `remember`.
  void call(baseUrl, "post", "/api/v1/auth/login", { body: { login: "ada", password: "x", remember: true } });
  // @ts-expect-error: there is no DELETE on /api/v1/courses.
  void call(baseUrl, "delete", "/api/v1/courses", {});
  // @ts-expect-error: `until` lists order statuses, and `shipped` is none.
  void call(baseUrl, "get", "/api/v1/me/orders/{id}", { path: { id: "x" }, query: { until: ["shipped"] } });
  // @ts-expect-error: `page` is an integer query parameter.
  void listCourses(baseUrl, { page: "2" });
}
