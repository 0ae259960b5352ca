/// Loads a U-Net checkpoint whose key names follow none of the known layouts, given the architecture: its
/// tensors are matched to the model's by role (the last key component: weight, bias, running_mean,
/// running_var, num_batches_tracked) and shape, in order within each group. PyTorch lists a module's
/// tensors in registration order, so two U-Nets built in the same order agree group by group; a group whose
/// sizes differ between the two is ambiguous, and the match is refused.
public enum StructuralMatcher {
    /// One matched pair.
    public struct Pair: Sendable {
        public let source: String
        public let target: String
        public let shape: [Int]
    }

    /// Matches `source` (the checkpoint's keys and shapes, in file order) to `target` (the model's, in state
    /// dict order).
    /// - Throws: `UNetError.incompatibleCheckpoint` listing every group whose counts differ.
    public static func match(source: [(key: String, shape: [Int])], target: [(key: String, shape: [Int])])
        throws(UNetError) -> [Pair]
    {
        struct Group: Hashable {
            let role: String
            let shape: [Int]
        }
        func group(_ key: String, _ shape: [Int]) -> Group {
            let last = String(key.split(separator: ".").last ?? "")
            let known = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
            return Group(role: known.contains(last) ? last : "other", shape: shape)
        }
        var sourceGroups: [Group: [String]] = [:]
        for (key, shape) in source { sourceGroups[group(key, shape), default: []].append(key) }
        var targetGroups: [Group: [String]] = [:]
        for (key, shape) in target { targetGroups[group(key, shape), default: []].append(key) }
        var problems: [String] = []
        for g in Set(sourceGroups.keys).union(targetGroups.keys).sorted(by: { "\($0.role)\($0.shape)" < "\($1.role)\($1.shape)" }) {
            let (have, want) = (sourceGroups[g]?.count ?? 0, targetGroups[g]?.count ?? 0)
            if have != want { problems.append("'\(g.role)' \(g.shape): checkpoint has \(have), architecture needs \(want)") }
        }
        guard problems.isEmpty else {
            throw .incompatibleCheckpoint("cannot match tensors by shape (check the architecture flags): "
                + problems.joined(separator: "; "))
        }
        var next: [Group: Int] = [:]
        return target.map { key, shape in
            let g = group(key, shape)
            let index = next[g, default: 0]
            next[g] = index + 1
            return Pair(source: sourceGroups[g]![index], target: key, shape: shape)
        }
    }
}
