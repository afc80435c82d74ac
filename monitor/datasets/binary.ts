/**
 * The two binary calls of the dataset API (DICOM bodies), beside MonitorClient's JSON ones, with the same error
 * classes: MonitorError for an answer, MonitorUnavailableError for no answer.
 */
import { MonitorError, MonitorUnavailableError } from "../client.ts";

async function send(url: string, init: RequestInit, fetchImpl: typeof fetch): Promise<Response> {
  let res: Response;
  try {
    res = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new MonitorUnavailableError(`monitor unreachable: ${err instanceof Error ? err.name : "error"}`);
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string; code?: string };
    if (res.status >= 502) throw new MonitorUnavailableError(`monitor answered ${res.status}`);
    throw new MonitorError(
      res.status,
      body.code ?? `HTTP_${res.status}`,
      body.error ?? `monitor answered ${res.status}`,
    );
  }
  return res;
}

const seg = encodeURIComponent;

/**
 * A dataset case's kept DICOM instance (as stored: de-identified; `dataset materialize` de-identifies again).
 * `fetchImpl`: a fetch carrying the monitor's TLS client settings (common/tls/client.ts securedFetch).
 */
export async function getCaseDicom(
  baseUrl: string,
  datasetId: string,
  caseId: string,
  fetchImpl: typeof fetch = fetch,
): Promise<Uint8Array> {
  const res = await send(
    `${baseUrl.replace(/\/+$/, "")}/v1/datasets/${seg(datasetId)}/cases/${seg(caseId)}/dicom`,
    {},
    fetchImpl,
  );
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Keeps a de-identified DICOM instance of a case for later datasets (idempotent PUT). The pseudonym travels in a
 * header, never in the URL (URLs end up in access logs), so that erasure and consent can find the case.
 */
export async function putKeptCase(
  baseUrl: string,
  ref: { namespace: string; model: string; caseId: string; patient?: string },
  dicom: Uint8Array,
  fetchImpl: typeof fetch = fetch,
): Promise<void> {
  await send(
    `${baseUrl.replace(/\/+$/, "")}/v1/cases/${seg(ref.namespace)}/${seg(ref.model)}/${seg(ref.caseId)}`,
    {
      method: "PUT",
      headers: {
        "content-type": "application/dicom",
        ...(ref.patient ? { "x-medmlops-patient": ref.patient } : {}),
      },
      body: dicom,
    },
    fetchImpl,
  );
}
