@testable import NSAuditCore
import Testing

/// YAMLReader, nsaudit's YAML over libyaml's event API (--accept and --flows files): the
/// node tree with places, aliases, and the errors a hostile or broken file gets.
@Suite struct YAMLReaderTests {
    func document(_ yaml: String) throws(YAMLError) -> YAMLNode? { try YAMLReader(yaml).document() }

    @Test func treeKeepsOrderTextAndPlaces() throws {
        let root = try #require(try document("# c\n- a: 'x'\n  b: [1, ~]\n- plain\n"))
        guard case .sequence(let items) = root.value else { Issue.record("not a list: \(root)"); return }
        #expect(root.mark == YAMLMark(line: 2, column: 1) && items.count == 2)
        guard case .mapping(let pairs) = items[0].value else { Issue.record("not a mapping"); return }
        #expect(pairs.map { $0.key.scalar } == ["a", "b"])
        #expect(pairs[0].value.scalar == "x" && !pairs[0].value.isNull && pairs[0].value.mark == YAMLMark(line: 2, column: 6))
        #expect(pairs[1].value.scalars == ["1", "~"])
        guard case .sequence(let inner) = pairs[1].value.value else { Issue.record("not a list"); return }
        #expect(inner[1].isNull && inner[1].mark == YAMLMark(line: 3, column: 10))
        #expect(items[1].scalar == "plain" && items[1].scalars == nil)
        #expect(try document("") == nil && document("# only a comment\n") == nil)
    }

    @Test func aliasIsTheAnchoredNodeAtItsOwnPlace() throws {
        let root = try #require(try document("a: &x [p, q]\nb: *x\n"))
        guard case .mapping(let pairs) = root.value else { Issue.record("not a mapping"); return }
        #expect(pairs[1].value.scalars == ["p", "q"] && pairs[1].value.mark == YAMLMark(line: 2, column: 4))
    }

    @Test(arguments: [
        ("a: *nowhere\n", "not valid YAML: line 1, column 4: unknown alias *nowhere"),
        ("a: &x [*x]\n", "not valid YAML: line 1, column 8: unknown alias *x"),
        ("- a\n---\n- b\n", "not valid YAML: line 2, column 1: expected a single document in the stream"),
        ("a: [b\n", "not valid YAML: line 2, column 1: did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 4)"),
        (String(repeating: "[", count: 300), "not valid YAML: line 1, column 257: lists and mappings nested more than 256 deep"),
    ])
    func errorsSayWhereAndWhat(_ yaml: String, _ expected: String) {
        do {
            _ = try document(yaml)
            Issue.record("expected an error for \(yaml)")
        } catch {
            #expect("\(error)" == expected)
        }
    }

    @Test func eventsStreamWithPlaces() throws {
        let r = try YAMLReader("k: v\n")
        var seen: [YAMLEvent] = []
        while true {
            let (ev, at) = try r.next()
            seen.append(ev)
            if case .scalar("v", true, nil) = ev { #expect(at == YAMLMark(line: 1, column: 4)) }
            if ev == .streamEnd { break }
        }
        #expect(seen == [.streamStart, .documentStart, .mappingStart(anchor: nil), .scalar("k", plain: true, anchor: nil),
                         .scalar("v", plain: true, anchor: nil), .mappingEnd, .documentEnd, .streamEnd])
    }
}
