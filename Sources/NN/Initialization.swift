import Tensors

/// PyTorch's default initialisation of a convolution (`_ConvNd.reset_parameters`):
/// `kaiming_uniform_(weight, a=sqrt(5))`, which is uniform in `±1/sqrt(fan_in)`, and the bias uniform in the
/// same bound. `fanIn` is `C_in·kH·kW` for `Conv2d` and `C_out·kH·kW` for `ConvTranspose2d` (PyTorch reads
/// dimension 1 of the weight in both cases).
/// - Returns: the weight of `weightShape` and, if `biasCount` is given, a bias of that many elements.
func defaultConvolutionInitialization(
    weightShape: [Int], fanIn: Int, biasCount: Int?, generator: inout SeededGenerator
) -> (weight: Tensor, bias: Tensor?) {
    let bound = 1 / Float(fanIn).squareRoot()
    let weight = Tensor.uniform(shape: weightShape, low: -bound, high: bound, using: &generator)
    let bias = biasCount.map { Tensor.uniform(shape: [$0], low: -bound, high: bound, using: &generator) }
    return (weight, bias)
}
