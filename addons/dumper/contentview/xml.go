package contentview

import (
	"slices"
	"strings"

	"github.com/mitmgo/mitmgo/internal/human"
)

// xmlView re-indents XML and HTML the way mitmproxy's XML/HTML view does: a
// tolerant tokenizer that only changes whitespace, two spaces per level,
// with short elements such as <b>text</b> kept on one line.
type xmlView struct{}

func (xmlView) Name() string   { return "XML/HTML" }
func (xmlView) Syntax() Syntax { return SyntaxXML }

func (xmlView) RenderPriority(data []byte, md *Metadata) float64 {
	switch {
	case len(data) == 0:
		return 0
	case md.ContentType == "text/xml" || md.ContentType == "text/html":
		return 1
	case isXML(data):
		return 0.4
	}
	return 0
}

// isXML reports whether the first byte other than tab, newline and space is
// "<".
func isXML(data []byte) bool {
	for _, c := range data {
		if c == 9 || c == 10 || c == 32 {
			continue
		}
		return c == '<'
	}
	return false
}

func (xmlView) Prettify(data []byte, md *Metadata) (string, error) {
	text := ""
	if md.Message != nil {
		t, err := md.Message.Text()
		if err != nil {
			t = human.DecodeBackslash(data)
		}
		text = t
	} else {
		text = human.DecodeBackslash(data)
	}
	return formatXML(tokenizeXML(text)), nil
}

var htmlVoidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "keygen": true, "link": true, "meta": true, "param": true, "source": true,
	"track": true, "wbr": true,
}

// noIndentTags do not indent their content.
var noIndentTags = map[string]bool{"xml": true, "doctype": true, "html": true}

const (
	xmlIndent       = 2
	xmlMaxOpenTags  = 16
	xmlMaxIndentCol = 32
)

type xmlToken struct {
	isTag bool
	data  string
}

// text is a text token's content without surrounding whitespace.
func (t *xmlToken) text() string { return human.PyStrip(t.data) }

func isTagNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == ':' || c == '-'
}

// name is the first run of name characters in the tag that is not directly
// followed by "=", lower-cased ("<empty>" if there is none); mitmproxy
// finds it with the regex [a-zA-Z0-9._:\-]+(?!=).
func (t *xmlToken) name() string {
	s := t.data
	for p := 0; p < len(s); p++ {
		if !isTagNameByte(s[p]) {
			continue
		}
		q := p
		for q < len(s) && isTagNameByte(s[q]) {
			q++
		}
		if q < len(s) && s[q] == '=' {
			// The regex backtracks one character; a one-character run
			// cannot match here.
			if q-1 > p {
				return strings.ToLower(s[p : q-1])
			}
			continue
		}
		return strings.ToLower(s[p:q])
	}
	return "<empty>"
}

func (t *xmlToken) isComment() bool { return strings.HasPrefix(t.data, "<!--") }
func (t *xmlToken) isCDATA() bool   { return strings.HasPrefix(t.data, "<![CDATA[") }
func (t *xmlToken) isClosing() bool { return strings.HasPrefix(t.data, "</") }
func (t *xmlToken) isSelfClosing() bool {
	return t.isComment() || t.isCDATA() || strings.HasSuffix(t.data, "/>") || htmlVoidElements[t.name()]
}
func (t *xmlToken) isOpening() bool { return !t.isClosing() && !t.isSelfClosing() }

func (t *xmlToken) done() bool {
	switch {
	case t.isComment():
		return strings.HasSuffix(t.data, "-->")
	case t.isCDATA():
		return strings.HasSuffix(t.data, "]]>")
	}
	return strings.HasSuffix(t.data, ">")
}

// tokenizeXML splits text into tags and the non-blank text between them. An
// unfinished tag at the end becomes a token of its own.
func tokenizeXML(data string) []*xmlToken {
	var tokens []*xmlToken
	cur := &xmlToken{}
	i := 0
	readUntil := func(ch byte, include int) string {
		end := len(data)
		if j := strings.IndexByte(data[i:], ch); j >= 0 {
			end = i + j
		}
		stop := min(end+include, len(data))
		ret := data[i:stop]
		i = end + include
		return ret
	}
	for i < len(data) {
		if !cur.isTag {
			cur.data = readUntil('<', 0)
			if cur.text() != "" {
				tokens = append(tokens, cur)
			}
			cur = &xmlToken{isTag: true}
		} else {
			cur.data += readUntil('>', 1)
			if cur.done() {
				tokens = append(tokens, cur)
				cur = &xmlToken{}
			}
		}
	}
	if human.PyStrip(cur.data) != "" {
		tokens = append(tokens, cur)
	}
	return tokens
}

func isInlineText(a, b, c *xmlToken) bool {
	return a != nil && a.isTag && b != nil && !b.isTag && c != nil && c.isTag &&
		a.isOpening() && !strings.Contains(b.data, "\n") && c.isClosing() && a.name() == c.name()
}

func isInline(prev2, prev1, t, next1, next2 *xmlToken) bool {
	if !t.isTag {
		return isInlineText(prev1, t, next1)
	}
	if isInlineText(prev2, prev1, t) || isInlineText(t, next1, next2) {
		return true
	}
	if next1 != nil && next1.isTag && t.isOpening() && next1.isClosing() && t.name() == next1.name() {
		return true // <div></div>, start tag
	}
	if prev1 != nil && prev1.isTag && prev1.isOpening() && t.isClosing() && prev1.name() == t.name() {
		return true // <div></div>, end tag
	}
	return false
}

// elementStack tracks how deeply the document is nested.
type elementStack struct {
	open   []string
	indent string
}

func (s *elementStack) push(tag string) {
	if len(s.open) > xmlMaxOpenTags {
		return
	}
	s.open = append(s.open, tag)
	if !noIndentTags[tag] {
		s.indent += strings.Repeat(" ", xmlIndent)
	}
}

func (s *elementStack) pop(tag string) {
	if !slices.Contains(s.open, tag) {
		return // a closing tag without a start tag keeps the indentation
	}
	remove := 0
	for {
		t := s.open[len(s.open)-1]
		s.open = s.open[:len(s.open)-1]
		if !noIndentTags[t] {
			remove += xmlIndent
		}
		if t == tag {
			break
		}
	}
	// mitmproxy slices indent[:-remove], which empties the indentation when
	// nothing is removed.
	if remove == 0 || remove >= len(s.indent) {
		s.indent = ""
	} else {
		s.indent = s.indent[:len(s.indent)-remove]
	}
}

func formatXML(tokens []*xmlToken) string {
	var out strings.Builder
	var ctx elementStack
	at := func(i int) *xmlToken {
		if i < 0 || i >= len(tokens) {
			return nil
		}
		return tokens[i]
	}
	for i, t := range tokens {
		inline := isInline(at(i-2), at(i-1), t, at(i+1), at(i+2))
		switch {
		case t.isTag && t.isOpening():
			out.WriteString(indentText(t.data, ctx.indent))
			if !inline {
				out.WriteByte('\n')
			}
			ctx.push(t.name())
		case t.isTag && t.isClosing():
			ctx.pop(t.name())
			if inline {
				out.WriteString(t.data)
			} else {
				out.WriteString(indentText(t.data, ctx.indent))
			}
			out.WriteByte('\n')
		case t.isTag:
			out.WriteString(indentText(t.data, ctx.indent))
			out.WriteByte('\n')
		case inline:
			out.WriteString(t.text())
		default:
			out.WriteString(indentText(t.data, ctx.indent))
			out.WriteByte('\n')
		}
	}
	return out.String()
}

// indentText re-indents a token that may span lines: its common leading
// whitespace goes (the first line counts as indented by 32), then every
// non-blank line gets prefix (at most 32 columns of it).
func indentText(data, prefix string) string {
	dedented := human.PyStrip(dedent(strings.Repeat(" ", xmlMaxIndentCol) + data))
	if len(prefix) > xmlMaxIndentCol {
		prefix = prefix[:xmlMaxIndentCol]
	}
	var b strings.Builder
	for _, line := range human.SplitLines(dedented, true) {
		if human.PyStrip(line) != "" {
			b.WriteString(prefix)
		}
		b.WriteString(line)
	}
	return b.String()
}

// dedent is Python's textwrap.dedent: lines of only spaces and tabs become
// empty, and the longest leading whitespace common to the other lines is
// removed.
func dedent(text string) string {
	lines := strings.Split(text, "\n")
	margin, haveMargin := "", false
	for i, l := range lines {
		if strings.Trim(l, " \t") == "" {
			lines[i] = ""
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		switch {
		case !haveMargin:
			margin, haveMargin = indent, true
		case strings.HasPrefix(indent, margin):
		case strings.HasPrefix(margin, indent):
			margin = indent
		default:
			n := 0
			for n < len(margin) && n < len(indent) && margin[n] == indent[n] {
				n++
			}
			margin = margin[:n]
		}
	}
	if margin != "" {
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, margin)
		}
	}
	return strings.Join(lines, "\n")
}
