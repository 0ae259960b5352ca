import Distributed
import Evaluation

extension ConfusionMatrix {
    /// The sum of every rank's matrix (each rank scored its share of the images): the matrix one process scoring
    /// them all would have. One process: itself.
    /// - Precondition: every rank calls it together, with matrices of the same class count.
    public func summed(over group: ProcessGroup) throws -> ConfusionMatrix {
        guard group.worldSize > 1 else { return self }
        var total = counts.map(Int64.init)
        try group.allReduce(&total, .sum)
        return try ConfusionMatrix(classes: classes, counts: total.map(Int.init))
    }
}
