// Fact gathering = run FACTS_SCRIPT on the host (one round trip), then parseFacts on its stdout.
export { FACTS_SCRIPT, FACTS_MARKER, parseFacts, splitSections } from './registry.js';
export { parseOsRelease, osFamily, SUPPORTED_OS_TEXT } from './all/os.js';
export { FactsError } from './errors.js';
