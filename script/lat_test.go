package script
import ("testing";"time";"sort")
func TestLat(t *testing.T) {
	e := newEnv(t, Config{}, nil, "seed/add_header.py")
	f := newFlow(t, "GET", "http://example.com/", 200, "hello", "Content-Type", "text/html")
	var ds []time.Duration
	for i := 0; i < 3000; i++ { s := time.Now(); e.m.Response(f); ds = append(ds, time.Since(s)) }
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	t.Log("GO median", ds[1500], "p90", ds[2700])
	for _, x := range e.log.all() { if len(x.Msg) > 3 && x.Msg[:2] == "PY" { t.Log(x.Msg) } }
}
