// The parsers of single facts, for tests that feed them lines (each lives with its fact module).
export { parseNginxDirectives } from './all/nginx.js';
export { parseAddresses } from './all/network.js';
export { FactsError } from './errors.js';
