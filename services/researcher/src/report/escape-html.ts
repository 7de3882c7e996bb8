/**
 * Escapes text for HTML and SVG, in element content and in quoted attribute
 * values alike. Every string that comes from an experiment (hospital names,
 * plan descriptions, notes, labels) goes through here before it reaches markup.
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => ENTITIES[character] ?? character);
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
