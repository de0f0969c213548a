/*
 * External scanner for Heddle.
 *
 * PRQL: the inside of a relational block `( ... )` as one token. Parentheses are balanced,
 *   PRQL strings ("...", '...', triple-quoted, with or without an f/s/r prefix; a backslash escapes
 *   the next character except in r-strings) and `#` comments are skipped, so a `)` inside them
 *   does not close the block. The token starts at the first
 *   non-blank character and ends after the last one before the closing `)`. An unterminated
 *   block stops before a line that starts in column 0 with `}` or a declaration keyword, so a
 *   missing `)` does not swallow the rest of the file. A line ends at `\n`, `\r\n` or a lone `\r`
 *   (LSP's lines, as everywhere in Heddle).
 *
 * INLINE_INJECTION_OPEN: a `<` on the same line as the function before it
 *   (`kafka.produce <broker=kb>`). A `<` after a newline starts a new pipeline instead.
 *
 * The scanner keeps no state between tokens.
 */
#include "tree_sitter/parser.h"

#include <stdbool.h>
#include <stdint.h>

enum TokenType {
  PRQL,
  INLINE_INJECTION_OPEN,
  ERROR_SENTINEL,
};

void *tree_sitter_heddle_external_scanner_create(void) { return NULL; }
void tree_sitter_heddle_external_scanner_destroy(void *payload) { (void)payload; }
unsigned tree_sitter_heddle_external_scanner_serialize(void *payload, char *buffer) {
  (void)payload;
  (void)buffer;
  return 0;
}
void tree_sitter_heddle_external_scanner_deserialize(void *payload, const char *buffer, unsigned length) {
  (void)payload;
  (void)buffer;
  (void)length;
}

static inline bool is_blank(int32_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

static inline void consume(TSLexer *lexer) { lexer->advance(lexer, false); }

static inline bool is_word_char(int32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * Consume a PRQL string starting at the opening quote; the token end is marked after it.
 * In a raw string (r"...") a backslash is ordinary text, so r"C:\" ends at its second quote.
 */
static void scan_string(TSLexer *lexer, bool raw) {
  int32_t quote = lexer->lookahead;
  consume(lexer);
  bool triple = false;
  if (lexer->lookahead == quote) {
    consume(lexer);
    if (lexer->lookahead != quote) {
      lexer->mark_end(lexer); /* empty string */
      return;
    }
    consume(lexer);
    triple = true;
  }
  unsigned run = 0; /* consecutive closing quotes seen (triple-quoted only) */
  while (!lexer->eof(lexer)) {
    int32_t c = lexer->lookahead;
    if (!triple && (c == '\n' || c == '\r')) break; /* unterminated: stop at the line end */
    consume(lexer);
    if (c == '\\' && !raw) {
      run = 0;
      if (!lexer->eof(lexer) && (triple || (lexer->lookahead != '\n' && lexer->lookahead != '\r'))) consume(lexer);
      continue;
    }
    if (c == quote) {
      if (!triple) break;
      if (++run == 3) break;
    } else {
      run = 0;
    }
  }
  lexer->mark_end(lexer);
}

/*
 * Called right after a newline: does this line start a new declaration or close the enclosing
 * block in column 0? Consumes the characters it compares. When it answers false they are
 * ordinary PRQL text and it marks them as part of the token; a keyword it answers true for is
 * left out of the token.
 */
static bool at_declaration_start(TSLexer *lexer) {
  static const char *keywords[] = {"import", "resource", "step", "handler", "workflow"};
  if (lexer->lookahead == '}') return true;
  for (unsigned k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++) {
    const char *word = keywords[k];
    if (lexer->lookahead != word[0]) continue;
    /* The keywords have distinct first letters, so only one can match from here. */
    unsigned i = 0;
    while (word[i] != '\0' && lexer->lookahead == word[i]) {
      consume(lexer);
      i++;
    }
    bool keyword = word[i] == '\0' && (lexer->lookahead == ' ' || lexer->lookahead == '\t');
    /* Only mark non-keyword text: the keyword itself belongs to the next declaration. */
    if (i > 0 && !keyword) lexer->mark_end(lexer);
    return keyword;
  }
  return false;
}

static bool scan_prql(TSLexer *lexer) {
  bool line_start = false;
  while (is_blank(lexer->lookahead) || lexer->lookahead == '\n') {
    line_start = lexer->lookahead == '\n' || lexer->lookahead == '\r';
    lexer->advance(lexer, true);
  }
  if (lexer->eof(lexer) || lexer->lookahead == ')') return false;
  /* `(` ending its line, then `}` or a declaration in column 0: the block is empty and unclosed. */
  if (line_start && at_declaration_start(lexer)) return false;

  unsigned depth = 0;
  int32_t prev = 0, prev2 = 0; /* the last two characters of the current run of ordinary text */
  while (!lexer->eof(lexer)) {
    int32_t c = lexer->lookahead;
    if (c == '\n' || is_blank(c) || c == '#') prev = prev2 = 0;
    if (c == '\n' || c == '\r') {
      consume(lexer);
      if (c == '\r' && lexer->lookahead == '\n') consume(lexer);
      if (at_declaration_start(lexer)) break;
      continue;
    }
    if (is_blank(c)) {
      consume(lexer);
      continue;
    }
    if (c == '"' || c == '\'') {
      scan_string(lexer, (prev == 'r' || prev == 'R') && !is_word_char(prev2));
      prev = prev2 = 0;
      continue;
    }
    if (c == '#') {
      while (!lexer->eof(lexer) && lexer->lookahead != '\n' && lexer->lookahead != '\r') consume(lexer);
      lexer->mark_end(lexer);
      continue;
    }
    if (c == ')') {
      if (depth == 0) break;
      depth--;
    } else if (c == '(') {
      depth++;
    }
    prev2 = prev;
    prev = c;
    consume(lexer);
    lexer->mark_end(lexer);
  }
  lexer->result_symbol = PRQL;
  return true;
}

static bool scan_inline_injection_open(TSLexer *lexer) {
  while (lexer->lookahead == ' ' || lexer->lookahead == '\t') lexer->advance(lexer, true);
  if (lexer->lookahead != '<') return false;
  consume(lexer);
  lexer->mark_end(lexer);
  lexer->result_symbol = INLINE_INJECTION_OPEN;
  return true;
}

bool tree_sitter_heddle_external_scanner_scan(void *payload, TSLexer *lexer, const bool *valid_symbols) {
  (void)payload;
  /* During error recovery every symbol is valid: let the internal lexer take over. */
  if (valid_symbols[ERROR_SENTINEL]) return false;
  if (valid_symbols[PRQL]) return scan_prql(lexer);
  if (valid_symbols[INLINE_INJECTION_OPEN]) return scan_inline_injection_open(lexer);
  return false;
}
