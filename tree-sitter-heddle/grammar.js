/**
 * Tree-sitter grammar for Heddle, a strictly-typed DSL for data-pipeline orchestration.
 *
 * Quirks worth knowing before editing:
 *  - The grammar is deliberately permissive about layout. Single-line declaration blocks and
 *    `a | b > c` on one line parse fine; the layout checker (HE2xxx, in heddle_lang) rejects them
 *    with a precise range and a fix. Layout errors then read like advice instead of ERROR nodes.
 *  - Newlines are insignificant except in one place: resource injection written *after* the
 *    function (`kafka.produce <broker=kb> {...}`) must start on the function's line. Without that
 *    rule `| kafka.produce` followed by a new pipeline `<broker=kb> kafka.consume` is ambiguous.
 *    The external scanner emits `_inline_injection_open` for a `<` with no newline before it.
 *  - A relational (PRQL) block is `(` + one opaque `prql` token + `)`. The external scanner
 *    balances parentheses and skips PRQL strings and `#` comments, so the inner text keeps its
 *    exact range for injection (highlighting) and for compiling with positions.
 *  - Pipelines are accepted at top level too, so that a statement outside a workflow gets a
 *    clear diagnostic from the syntax layer instead of an ERROR node.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

/**
 * Items separated by optional commas, with an optional trailing comma.
 * @param {RuleOrLiteral} rule
 */
function looseList(rule) {
  return optional(seq(rule, repeat(seq(optional(','), rule)), optional(',')));
}

/**
 * Items separated by commas, with an optional trailing comma.
 * @param {RuleOrLiteral} rule
 */
function commaList(rule) {
  return optional(seq(rule, repeat(seq(',', rule)), optional(',')));
}

module.exports = grammar({
  name: 'heddle',

  word: $ => $.identifier,

  extras: $ => [/\s/, $.comment],

  externals: $ => [
    $.prql,
    $._inline_injection_open,
    $._error_sentinel,
  ],

  rules: {
    source_file: $ => repeat(choice($._declaration, $.pipeline)),

    _declaration: $ => choice(
      $.import_declaration,
      $.resource_declaration,
      $.step_declaration,
      $.handler_declaration,
      $.workflow_declaration,
    ),

    // import "fhub/postgresql" pg
    // The alias is required by the language; without it the layout checker reports HE2008.
    // prec.right: an identifier after the path is the alias, never a top-level pipeline.
    import_declaration: $ => prec.right(seq(
      'import',
      field('path', $.string),
      optional(field('alias', $.identifier)),
    )),

    // resource pg_db = pg.connection { host: "pg.internal" }
    resource_declaration: $ => seq(
      'resource',
      field('name', $.identifier),
      '=',
      field('value', $.call),
    ),

    // step fetch = <connection=pg_db> pg.query { query: "..." }
    step_declaration: $ => seq(
      'step',
      field('name', $.identifier),
      '=',
      field('value', $.call),
    ),

    // handler on_fail { * | io.stderr }
    handler_declaration: $ => seq(
      'handler',
      field('name', $.identifier),
      field('body', $.block),
    ),

    // workflow Name ? on_fail { ... }
    workflow_declaration: $ => seq(
      'workflow',
      field('name', $.identifier),
      optional(field('trap', $.trap)),
      field('body', $.block),
    ),

    block: $ => seq('{', repeat($.pipeline), '}'),

    pipeline: $ => seq(
      field('source', $.source),
      repeat(choice(
        field('stage', $.stage),
        field('assignment', $.assignment),
      )),
    ),

    source: $ => seq(
      field('value', choice(
        $.error_context,
        $.reference,
        $.call,
        $.relational_block,
        $.dataframe,
      )),
      optional(field('trap', $.trap)),
    ),

    stage: $ => seq(
      '|',
      field('value', choice(
        $.reference,
        $.call,
        $.relational_block,
      )),
      optional(field('trap', $.trap)),
    ),

    assignment: $ => seq('>', field('name', $.identifier)),

    // `? on_fail`, or a library's handler: `? platform.on_fail` (`handler` is then the library's alias).
    trap: $ => seq('?', field('handler', $.identifier), optional($._member)),

    // `.name` after the alias of a `.he` library (`import "./platform.he" platform`): a name it declares.
    // After the alias, not before the name, so that `<key=res` missing its `>` recovers as it did.
    _member: $ => seq('.', field('member', $.identifier)),

    // `*` in a handler: the error context (message, stack trace and failing rows).
    error_context: _ => '*',

    reference: $ => $.identifier,

    call: $ => seq(
      optional(field('injection', $.injection)),
      field('function', $.function),
      optional(field('injection', alias($._inline_injection, $.injection))),
      optional(field('config', $.dict)),
    ),

    function: $ => seq(
      field('module', $.identifier),
      '.',
      field('name', $.identifier),
    ),

    injection: $ => seq('<', commaList($.binding), '>'),

    _inline_injection: $ => seq(
      alias($._inline_injection_open, '<'),
      commaList($.binding),
      '>',
    ),

    binding: $ => seq(
      field('key', $.identifier),
      '=',
      field('value', $.identifier),
      optional($._member),
    ),

    relational_block: $ => seq('(', optional(field('query', $.prql)), ')'),

    // An inline table: a list of row dicts, usable as a pipeline source.
    dataframe: $ => seq('[', looseList(field('row', $._value)), ']'),

    dict: $ => seq('{', looseList($.pair), '}'),

    pair: $ => seq(
      field('key', choice($.identifier, $.string)),
      ':',
      field('value', $._value),
    ),

    list: $ => seq('[', looseList($._value), ']'),

    _value: $ => choice(
      $.string,
      $.multiline_string,
      $.number,
      $.true,
      $.false,
      $.null,
      $.dict,
      $.list,
      // Not a valid value: parsed so the checker can say "strings need quotes".
      alias($.identifier, $.bare_word),
    ),

    string: $ => seq(
      '"',
      repeat(choice($.string_content, $.escape_sequence)),
      '"',
    ),

    string_content: _ => token.immediate(prec(1, /[^"\\\r\n]+/)),

    escape_sequence: _ => token.immediate(seq(
      '\\',
      choice(
        /["\\\/bfnrt]/,
        /u[0-9a-fA-F]{4}/,
      ),
    )),

    // """...""" spans lines; its content is taken as written (no escapes).
    multiline_string: _ => token(seq('"""', repeat(choice(/[^"]/, /"[^"]/, /""[^"]/)), '"""')),

    number: _ => token(seq(
      optional(choice('-', '+')),
      /\d+/,
      optional(seq('.', /\d+/)),
      optional(seq(/[eE]/, optional(choice('-', '+')), /\d+/)),
    )),

    true: _ => 'true',
    false: _ => 'false',
    null: _ => 'null',

    identifier: _ => /[A-Za-z_][A-Za-z0-9_]*/,

    comment: _ => token(choice(
      seq('//', /[^\r\n]*/),
      seq('/*', /[^*]*\*+([^/*][^*]*\*+)*/, '/'),
    )),
  },
});
