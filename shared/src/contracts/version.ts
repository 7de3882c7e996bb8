/**
 * Wire protocol version, "major.minor". Receivers accept any minor of their
 * own major and reject other majors (Fed-BioMed's protocol version check).
 */
export const PROTOCOL_VERSION = '1.0';
export const PROTOCOL_MAJOR = 1;

export function majorOf(version: string): number | undefined {
  const match = /^(\d+)\.(\d+)$/.exec(version);
  return match ? Number(match[1]) : undefined;
}
