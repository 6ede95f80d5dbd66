// nunjucks' lexer module (untyped in @types/nunjucks); only what template-jinja.ts uses.
declare module 'nunjucks/src/lexer.js' {
  const lexer: {
    lex(src: string, opts: Record<string, unknown>): object;
    TOKEN_COMMENT: string;
    TOKEN_DATA: string;
  };
  export default lexer;
}
