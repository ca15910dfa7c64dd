import { GoMethods, parseGoYaml, TemplateSet } from './gotemplate';

/**
 * The Go-template semantics the chart renderer (./gotemplate.ts) relies on, each with the
 * output Go's text/template, Sprig and Helm give. Where the renderer is stricter than Go
 * (it throws instead of printing Go's `%!d(float64=1)`), that is pinned too.
 */

const render = (source: string, data: unknown = {}) => new TemplateSet({ t: source }).render('t', data);

describe('the chart renderer (a Go text/template subset)', () => {
  it.each([
    ['trim markers eat all whitespace on their side', 'a  \n {{- "b" -}} \n  c', 'abc'],
    ['without markers, text stays', 'a {{ "b" }} c', 'a b c'],
    ['comments print nothing', 'x{{/* c */}}y {{- /* trimmed */ -}} z', 'xyz'],
    ['a map ranges in key order', '{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}', 'a=2;b=1;'],
    ['a list ranges with its index', '{{ range $i, $v := .l }}{{ $i }}:{{ $v }} {{ end }}', '0:x 1:y '],
    ['range with one variable takes the element', '{{ range $v := .l }}{{ $v }}{{ end }}', 'xy'],
    ['range sets the dot', '{{ range .l }}<{{ . }}>{{ end }}', '<x><y>'],
    ['an empty range takes its else', '{{ range .none }}x{{ else }}none{{ end }}', 'none'],
    ['a missing key prints nothing (Helm drops "<no value>")', '[{{ .missing }}]', '[]'],
    ['YAML numbers are float64: %v', '{{ .n }} {{ .big }}', '25 1e+06'],
    ['add gives an int', '{{ add .n 15 }}', '40'],
    [
      'an assignment inside a block reaches the outer variable',
      '{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}',
      '2',
    ],
    [
      'an assignment inside a range persists',
      '{{ $x := "" }}{{ range .l }}{{ $x = . }}{{ end }}{{ $x }}',
      'y',
    ],
    ['with on an empty value takes its else', '{{ with .e }}x{{ else }}empty{{ end }}', 'empty'],
    ['else if', '{{ if .e }}A{{ else if .n }}B{{ else }}C{{ end }}', 'B'],
    ['a float literal equals a float64', '{{ eq .n 25.0 }}', 'true'],
    ['quote is %q', '{{ "a\\"b" | quote }} {{ .n | quote }}', '"a\\"b" "25"'],
    ['default on empty', '{{ default "d" "" }} {{ default "d" "v" }} {{ default "d" .missing }}', 'd v d'],
    ['toYaml sorts keys, through JSON', '{{ dict "b" .n "a" (list "x") | toYaml }}', 'a:\n- x\nb: 25'],
    ['sortAlpha and uniq', '{{ list "b" "a" "b" | sortAlpha | uniq | toYaml }}', '- a\n- b'],
    ['nindent', '{{ "a\\nb" | nindent 2 }}', '\n  a\n  b'],
    ['printf %s and %d of an int', '{{ printf "%s:%d" "a" (int .n) }}', 'a:25'],
    ['or and and return values', '[{{ or "" "b" }}] [{{ and "a" "" "c" }}]', '[b] []'],
    ['a parenthesized pipeline takes fields', '{{ (dict "a" (dict "b" "c")).a.b }}', 'c'],
    ['functions as arguments are called', '{{ len (list) }} {{ dict "k" list | toYaml }}', '0 k: []'],
    [
      'set, omit, hasKey, index',
      '{{ $d := omit (set (dict "a" 1) "b" 2) "a" }}{{ hasKey $d "a" }} {{ index $d "b" }}',
      'false 2',
    ],
    ['has, concat, append', '{{ has "c" (concat (list "a") (append (list "b") "c")) }}', 'true'],
    ['a struct method with an argument', '{{ .Files.Get "x" }}', 'file x'],
  ])('%s', (_what, source, expected) => {
    const data = {
      m: { b: 1, a: 2 },
      l: ['x', 'y'],
      none: [],
      n: 25,
      big: 1_000_000,
      e: '',
      Files: new GoMethods({ Get: (name) => `file ${String(name)}` }),
    };
    expect(render(source, data)).toBe(expected);
  });

  it('runs defines with $ set to their argument', () => {
    expect(render('{{ define "x" }}{{ $.v }}{{ .v }}{{ end }}{{ include "x" (dict "v" "y") }}')).toBe('yy');
  });

  it('reads YAML as go-yaml v2 does: 1.1 octal and booleans, no timestamps or sexagesimals', () => {
    expect(parseGoYaml('a: 0440\nb: yes\nc: 12:30\nd: 2001-12-14')).toEqual({
      a: 288,
      b: true,
      c: '12:30',
      d: '2001-12-14',
    });
    expect(render('{{ $m := fromYaml "a: 0440\\nb: on" }}{{ $m.a }} {{ $m.b }}')).toBe('288 true');
    expect(render('{{ (fromYaml "a: [").Error | empty | not }}')).toBe('true');
  });

  it.each([
    [
      'a field of nil is an error, as in Helm',
      '{{ .missing.deeper }}',
      /nil pointer evaluating interface \{\}\.deeper/,
    ],
    [
      'eq of float64 and an int literal is an error, as in Go',
      '{{ eq .n 25 }}',
      /incompatible types for comparison/,
    ],
    ['required', '{{ required "need x" .missing }}', /need x/],
    ['fail', '{{ fail "stop" }}', /stop/],
    ['an unknown function', '{{ nope 1 }}', /function "nope" not defined/],
    ['an undefined variable', '{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}', /undefined variable: \$y/],
    ['an action without end', '{{ if true }}x', /if without end/],
    ['%d of a float64 (Go would print %!d(float64=25))', '{{ printf "%d" .n }}', /printf: %d of a float64/],
    ['nindent with a float64 width', '{{ "a" | nindent .n }}', /expected int; got float64/],
  ])('refuses %s', (_what, source, error) => {
    expect(() => render(source, { n: 25 })).toThrow(error);
  });
});
