/// The report's text from the system and from input files (host, namespace, device and
/// service names, error details, summaries that quote them) made safe for a terminal: the
/// text renderer shows this copy (`String.terminalEscaped`: control characters as `\x1b`,
/// `\n`…), so a namespace named with an escape sequence cannot retitle the terminal and one
/// with a newline cannot forge a row. JSON and Prometheus output keep the exact text.
extension Report {
    public var terminalEscaped: Report {
        var r = self
        r.host = host.terminalEscaped
        r.source = source.terminalEscaped
        r.snapshotTakenAt = snapshotTakenAt.terminalEscaped
        r.generatedAt = generatedAt.terminalEscaped
        for i in r.namespaces.indices {
            r.namespaces[i].name = r.namespaces[i].name.terminalEscaped
            r.namespaces[i].id = r.namespaces[i].id.terminalEscaped
            r.namespaces[i].errors = r.namespaces[i].errors.map(\.terminalEscaped)
            for j in r.namespaces[i].interfaces.indices {
                r.namespaces[i].interfaces[j].name = r.namespaces[i].interfaces[j].name.terminalEscaped
                r.namespaces[i].interfaces[j].state = r.namespaces[i].interfaces[j].state.terminalEscaped
                r.namespaces[i].interfaces[j].vrf = r.namespaces[i].interfaces[j].vrf?.terminalEscaped
            }
        }
        for i in r.findings.indices {
            r.findings[i].netns = r.findings[i].netns.terminalEscaped
            r.findings[i].ingress = r.findings[i].ingress?.terminalEscaped
            r.findings[i].egress = r.findings[i].egress?.terminalEscaped
            r.findings[i].summary = r.findings[i].summary.terminalEscaped
            r.findings[i].services = r.findings[i].services?.map(\.terminalEscaped)
            r.findings[i].details = r.findings[i].details?.mapValues(\.terminalEscaped)
            for j in r.findings[i].remediation.indices {
                r.findings[i].remediation[j].description = r.findings[i].remediation[j].description.terminalEscaped
            }
        }
        return r
    }
}
