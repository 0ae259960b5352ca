import Tensors

/// Anything that owns parameters, buffers or sub-modules. Mirrors `torch.nn.Module`: keys are PyTorch
/// `state_dict` keys, verbatim, in PyTorch's order (parameters and buffers of a module before its children).
public protocol Module: AnyObject {
    /// This module's own tensors: `[("weight", weight), ("bias", bias)]`.
    var namedTensors: [(String, Parameter)] { get }
    /// Direct sub-modules with their key prefixes: `[("inc", inc), ("down1", down1)]`. A PyTorch
    /// `nn.Sequential` contributes its index: `("double_conv.0", conv1)`.
    var namedChildren: [(String, any Module)] { get }
    /// Training mode (batch statistics in batch norm) or eval mode. Set it for a whole tree with
    /// `train()` / `eval()`.
    var isTraining: Bool { get set }
}

extension Module {
    public var namedTensors: [(String, Parameter)] { [] }
    public var namedChildren: [(String, any Module)] { [] }

    /// Every tensor of the tree under its full key (`"down1.maxpool_conv.1.double_conv.0.weight"`), in
    /// PyTorch's `state_dict()` order.
    public func namedParameters(prefix: String = "") -> [(String, Parameter)] {
        var result = namedTensors.map { (prefix + $0.0, $0.1) }
        for (name, child) in namedChildren {
            result += child.namedParameters(prefix: prefix + name + ".")
        }
        return result
    }

    /// The trainable parameters (not buffers), in order.
    public var trainableParameters: [Parameter] {
        namedParameters().map(\.1).filter(\.requiresGrad)
    }

    /// Sets training mode on this module and every descendant (PyTorch `model.train()`).
    public func train(_ training: Bool = true) {
        isTraining = training
        for (_, child) in namedChildren { child.train(training) }
    }

    /// Sets eval mode on this module and every descendant (PyTorch `model.eval()`).
    public func eval() { train(false) }

    /// Zeros every parameter's gradient.
    public func zeroGrad() {
        for (_, parameter) in namedParameters() { parameter.zeroGrad() }
    }
}
