package dumper

// defaultParser is used until a filter parser is set with SetFilterParser.
func defaultParser(string) (Matcher, error) { return nil, errNoFilter }
