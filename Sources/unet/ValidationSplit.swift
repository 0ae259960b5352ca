import Tensors

/// The share of a dataset `unet train` holds out for validation when no validation set is given (and `unet plan`
/// assumes): `percent` of the samples, drawn with `seed`; both parts sorted.
enum ValidationSplit {
    static func split(count: Int, percent: Double, seed: UInt64) -> (training: [Int], validation: [Int]) {
        var g = SeededGenerator(seed: seed)
        let shuffled = Array(0..<count).shuffled(using: &g)
        let held = Int(Double(count) * percent / 100)
        return (Array(shuffled.dropFirst(held)).sorted(), Array(shuffled.prefix(held)).sorted())
    }
}
