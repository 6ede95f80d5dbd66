// Fact gathering = run FACTS_SCRIPT on the host (one round trip), then parseFacts on its stdout.
export { FACTS_SCRIPT, FACTS_MARKER } from './script.js';
export { parseFacts, parseOsRelease, osFamily, FactsError, SUPPORTED_OS_TEXT } from './parse.js';
