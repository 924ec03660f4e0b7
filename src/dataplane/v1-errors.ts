/** How the HNS v1 surface words its failures: HNSCall's `hns failed with error : <text>` with the HRESULT kept. */
import { HRESULT_MESSAGES, HnsError } from '../hns';

/** The text HnsError carries without its `call subject:` prefix and `(0x…)` suffix. */
export function innerText(e: HnsError): string {
  const where = [e.call, e.subject].filter(Boolean).join(' ');
  let m = e.message;
  if (where && m.startsWith(where + ': ')) m = m.slice(where.length + 2);
  return m.replace(/ \(0x[0-9a-f]{8}\)$/, '').trim();
}

export function v1Error(hr: number, call: string, subject: string | undefined, text?: string): HnsError {
  const t = (text ?? HRESULT_MESSAGES[hr] ?? 'HNS error').trim();
  return new HnsError(hr, `hns failed with error : ${t}`, { call, subject, record: t });
}
