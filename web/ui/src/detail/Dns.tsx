// The Request and Response tabs of a DNS flow.
import type { DNSMessage, DNSResourceRecord } from "../flowtypes";

function Records({ title, rrs }: { title: string; rrs: DNSResourceRecord[] }) {
  return (
    <div class="fd-dns-section">
      <h4>{title}</h4>
      {rrs.length === 0 ? (
        <div class="fd-muted">—</div>
      ) : (
        <table class="fd-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>Class</th>
              <th>TTL</th>
              <th>Data</th>
            </tr>
          </thead>
          <tbody>
            {rrs.map((r, i) => (
              <tr key={i}>
                <td>{r.name}</td>
                <td>{r.type}</td>
                <td>{r.class}</td>
                <td>{r.ttl}</td>
                <td>{r.data}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function DnsMessageView({ msg }: { msg: DNSMessage }) {
  const flags = [
    msg.authoritative_answer && "Authoritative Answer",
    msg.truncation && "Truncated",
    msg.recursion_desired && "Recursion Desired",
    msg.recursion_available && "Recursion Available",
  ].filter(Boolean);
  return (
    <section class="fd-dns">
      <div class="fd-first-line">
        {msg.query ? "Query" : "Response"} #{msg.id} {msg.op_code} {msg.query ? "" : msg.response_code}
        {flags.length > 0 && <span class="fd-muted"> ({flags.join(", ")})</span>}
      </div>
      <div class="fd-dns-section">
        <h4>{msg.questions.length === 1 ? "Question" : "Questions"}</h4>
        <table class="fd-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>Class</th>
            </tr>
          </thead>
          <tbody>
            {msg.questions.map((q, i) => (
              <tr key={i}>
                <td>{q.name}</td>
                <td>{q.type}</td>
                <td>{q.class}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Records title="Answers" rrs={msg.answers} />
      <Records title="Authorities" rrs={msg.authorities} />
      <Records title="Additionals" rrs={msg.additionals} />
    </section>
  );
}
