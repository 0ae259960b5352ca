/// Sees the input of each convolution an int8 network would quantize, as an inference network runs (calibration):
/// the convolution's node name and the input's float32 elements in the network's layout (any padding of a channel
/// block included). Called on the thread running the network, before the convolution.
public typealias ConvolutionInputObserver = (_ convolution: String, _ values: UnsafeBufferPointer<Float>) -> Void
