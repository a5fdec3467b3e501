/// A finding's client sources said the short way: the CIDR blocks of the set, or — when that
/// is shorter — "every source except …", relative to the sources that can reach the address
/// on the ingress at all (`reachable`). Addresses outside `reachable` (local, martian and
/// special sources, requests the kernel rejects) may be folded into the excepted blocks:
/// they are no one's clients, so "except 10.99.0.0/24" says it where the exact complement
/// would be a dozen blocks around the local address.
public struct SourceSet: Sendable, Equatable {
    /// The first `limit` blocks of the set, in address order.
    public var blocks: [IPPrefix]
    /// How many blocks the whole set has.
    public var total: Int
    /// The excepted blocks when they are fewer than `total` (empty: every reachable source);
    /// nil when the list is the short way.
    public var except: [IPPrefix]?
    /// The blocks a sentence names when it lists the set: `blocks` with the unreachable
    /// addresses inside the set folded in (10.20.30.0/24 rather than the 14 blocks around
    /// the local address and the broadcast address); nil when that folds nothing.
    public var named: [IPPrefix]?

    /// Excepted blocks are looked for among at most this many blocks of the complement.
    static let exceptSearchLimit = 100_000

    public init(blocks: [IPPrefix], total: Int, except: [IPPrefix]?, named: [IPPrefix]? = nil) {
        self.blocks = blocks; self.total = total; self.except = except; self.named = named
    }

    /// `reachable` is asked only when the set is small enough for a short form to be looked
    /// for (a full table's fragmented sets are listed as they are, without the work).
    /// nil `reachable`: no short form is looked for.
    public init(_ set: AddressRanges, reachable: (() -> AddressRanges)?, limit: Int) {
        blocks = set.prefixes(limit: limit)
        total = blocks.count < limit ? blocks.count : set.prefixCount
        // The complement has at least as many ranges, less one, as the set: past the search
        // limit neither short form can be found.
        guard let reachable, set.ranges.count <= Self.exceptSearchLimit else { return }
        let others = reachable().subtracting(set)
        guard others.ranges.count <= Self.exceptSearchLimit else { return }
        except = Self.cover(others, within: Self.everything(set.family).subtracting(set), shorterThan: total)
        if total > 1 { named = Self.cover(set, within: Self.everything(set.family).subtracting(others), shorterThan: total) }
    }

    static func everything(_ family: IPAddress.Family) -> AddressRanges {
        var all = AddressRanges(family: family)
        all.append(0, family == .v4 ? 0xffff_ffff : .max)
        return all
    }

    /// The blocks of `room` (a superset of `target` that adds only unreachable addresses)
    /// that hold some of `target`, when there are fewer than `count` of them.
    /// (The blocks and `target`'s ranges both come in address order: one walk over the two.)
    static func cover(_ target: AddressRanges, within room: AddressRanges, shorterThan count: Int) -> [IPPrefix]? {
        guard room.prefixCount <= exceptSearchLimit else { return nil }
        let width = room.family.bitWidth
        let top: UInt128 = width == 32 ? 0xffff_ffff : .max
        var out: [IPPrefix] = []
        var tooMany = false
        target.ranges.withUnsafeBufferPointer { t in
            var j = 0  // the first range of target not wholly before the block
            room.forEachBlock { lo, length in
                let bits = width - length
                let hi = bits == width ? top : lo + ((1 << UInt128(bits)) - 1)
                while j < t.count && t[j].1 < lo { j += 1 }
                guard j < t.count && t[j].0 <= hi else { return true }
                out.append(IPPrefix(IPAddress(family: room.family, bits: lo), length))
                if out.count >= count { tooMany = true; return false }
                return true
            }
        }
        return tooMany ? nil : out
    }

    /// "every source except 10.99.0.0/24", "1.0.0.0/8, 2.0.0.0/7, 4.0.0.0/6 and 42 more",
    /// "every source": at most `shown` blocks named.
    public func phrase(shown: Int = 3) -> String {
        func list(_ ps: [IPPrefix], _ total: Int) -> String {
            let named = ps.prefix(shown).map(\.description)
            if total > named.count { return named.joined(separator: ", ") + " and \(total - named.count) more" }
            if named.count <= 1 { return named.joined() }
            return named.dropLast().joined(separator: ", ") + " and " + named.last!
        }
        let listed = named ?? blocks, count = named?.count ?? total
        if let except, except.count < count {
            return except.isEmpty ? "every source" : "every source except " + list(except, except.count)
        }
        return list(listed, count)
    }
}
