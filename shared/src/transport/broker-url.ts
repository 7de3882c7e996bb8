/** Broker URLs end up in logs and error messages; the password must not. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not parseable: hide anything that looks like "user:password@".
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
