package contentview

import (
	"strconv"
	"strings"
)

// Tag classifies a highlighted chunk, as mitmproxy's syntax highlighter
// does: "name", "string", "number", "boolean", "comment", "error", or ""
// for text that is not highlighted.
type Tag string

// Chunk is a piece of highlighted text.
type Chunk struct {
	Tag  Tag
	Text string
}

// Highlight splits text into chunks for colouring. It is a light-weight
// lexer for the output of this package's views, not a full YAML or XML
// parser; concatenating the chunks always gives text back.
func Highlight(text string, syntax Syntax) []Chunk {
	switch syntax {
	case SyntaxError:
		return []Chunk{{"error", text}}
	case SyntaxYAML:
		return highlightYAML(text)
	case SyntaxXML:
		return highlightXML(text)
	}
	return []Chunk{{"", text}}
}

func highlightYAML(text string) []Chunk {
	var out []Chunk
	add := func(tag Tag, s string) {
		if s == "" {
			return
		}
		if n := len(out); n > 0 && out[n-1].Tag == tag {
			out[n-1].Text += s
			return
		}
		out = append(out, Chunk{tag, s})
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '"' || c == '\'':
			j := quotedEnd(text, i)
			tag := Tag("string")
			if k := skipSpaces(text, j); k < len(text) && text[k] == ':' {
				tag = "name"
			}
			add(tag, text[i:j])
			i = j
		case strings.IndexByte(" \t\n\r{}[],-", c) >= 0:
			add("", text[i:i+1])
			i++
		case c == ':' && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\n'):
			add("", ":")
			i++
		default:
			j := i
			for j < len(text) && text[j] != '\n' && text[j] != ',' && !(text[j] == ':' && (j+1 == len(text) || text[j+1] == ' ' || text[j+1] == '\n')) {
				j++
			}
			word := strings.TrimRight(text[i:j], " \t")
			j = i + len(word)
			switch {
			case j < len(text) && text[j] == ':':
				add("name", word)
			case word == "true" || word == "false" || word == "null":
				add("boolean", word)
			case isNumber(word):
				add("number", word)
			default:
				add("string", word)
			}
			i = j
		}
	}
	return out
}

func isNumber(s string) bool {
	if s == "NaN" || s == "Infinity" || s == "-Infinity" {
		return true
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// quotedEnd returns the index after the string starting with a quote at i.
func quotedEnd(text string, i int) int {
	q := text[i]
	for j := i + 1; j < len(text); j++ {
		switch {
		case text[j] == '\\' && q == '"':
			j++
		case text[j] == q:
			if q == '\'' && j+1 < len(text) && text[j+1] == '\'' {
				j++
				continue
			}
			return j + 1
		case text[j] == '\n':
			return j
		}
	}
	return len(text)
}

func skipSpaces(text string, i int) int {
	for i < len(text) && text[i] == ' ' {
		i++
	}
	return i
}

func highlightXML(text string) []Chunk {
	var out []Chunk
	for len(text) > 0 {
		lt := strings.IndexByte(text, '<')
		if lt < 0 {
			out = append(out, Chunk{"", text})
			break
		}
		if lt > 0 {
			out = append(out, Chunk{"", text[:lt]})
			text = text[lt:]
		}
		if strings.HasPrefix(text, "<!--") {
			end := strings.Index(text, "-->")
			if end < 0 {
				end = len(text)
			} else {
				end += 3
			}
			out = append(out, Chunk{"comment", text[:end]})
			text = text[end:]
			continue
		}
		end := strings.IndexByte(text, '>')
		if end < 0 {
			end = len(text)
		} else {
			end++
		}
		out = append(out, highlightTag(text[:end])...)
		text = text[end:]
	}
	return out
}

// highlightTag marks the element name and the attribute values of one tag.
func highlightTag(tag string) []Chunk {
	var out []Chunk
	i := 1
	for i < len(tag) && (tag[i] == '/' || tag[i] == '?' || tag[i] == '!') {
		i++
	}
	j := i
	for j < len(tag) && isTagNameByte(tag[j]) {
		j++
	}
	out = append(out, Chunk{"", tag[:i]}, Chunk{"name", tag[i:j]})
	rest := tag[j:]
	for len(rest) > 0 {
		q := strings.IndexAny(rest, `"'`)
		if q < 0 {
			out = append(out, Chunk{"", rest})
			break
		}
		e := strings.IndexByte(rest[q+1:], rest[q])
		if e < 0 {
			out = append(out, Chunk{"", rest})
			break
		}
		e += q + 2
		out = append(out, Chunk{"", rest[:q]}, Chunk{"string", rest[q:e]})
		rest = rest[e:]
	}
	return out
}
