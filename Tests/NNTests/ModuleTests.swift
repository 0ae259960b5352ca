import NN
import Tensors
import TestSupport
import Testing

/// A two-level module in the style of milesial's `DoubleConv` inside `Down`, to check key paths.
final class TestBlock: Module {
    let conv: Conv2d
    let bn: BatchNorm2d
    var isTraining = true
    var namedChildren: [(String, any Module)] { [("double_conv.0", conv), ("double_conv.1", bn)] }

    init(generator: inout SeededGenerator) {
        conv = Conv2d(inputChannels: 2, outputChannels: 3, kernelSize: 3, padding: 1, bias: false, generator: &generator)
        bn = BatchNorm2d(numFeatures: 3)
    }
}

final class TestNetwork: Module {
    let head: Conv2d
    let block: TestBlock
    var isTraining = true
    var namedChildren: [(String, any Module)] { [("inc", block), ("outc.conv", head)] }

    init(generator: inout SeededGenerator) {
        block = TestBlock(generator: &generator)
        head = Conv2d(inputChannels: 3, outputChannels: 1, kernelSize: 1, generator: &generator)
    }
}

@Suite("Module tree: state_dict keys, loading, train/eval")
struct ModuleTests {
    @Test("keys are full PyTorch paths in order")
    func keys() {
        var g = SeededGenerator(seed: 1)
        let net = TestNetwork(generator: &g)
        #expect(net.stateDict().keys == [
            "inc.double_conv.0.weight", "inc.double_conv.1.weight", "inc.double_conv.1.bias",
            "inc.double_conv.1.running_mean", "inc.double_conv.1.running_var", "inc.double_conv.1.num_batches_tracked",
            "outc.conv.weight", "outc.conv.bias",
        ])
        #expect(net.trainableParameters.count == 5)
    }

    @Test("load reports missing, unexpected and mis-shaped keys together and changes nothing")
    func loadErrors() throws {
        var g = SeededGenerator(seed: 1)
        let net = TestNetwork(generator: &g)
        let before = net.stateDict()
        var broken = before
        broken["outc.conv.bias"] = nil
        broken["extra.weight"] = Tensor(shape: [1])
        broken["inc.double_conv.0.weight"] = Tensor(shape: [3, 2, 1, 1])
        broken["outc.conv.weight"] = Tensor(shape: [1, 3, 1, 1], repeating: 5)
        let error = #expect(throws: StateDictError.self) { try net.load(broken) }
        let e = try #require(error)
        #expect(e.missingKeys == ["outc.conv.bias"])
        #expect(e.unexpectedKeys == ["extra.weight"])
        #expect(e.shapeMismatches.map(\.key) == ["inc.double_conv.0.weight"])
        #expect(e.description.contains("expected [3, 2, 3, 3], found [3, 2, 1, 1]"))
        #expect(net.stateDict() == before)
    }

    @Test("non-strict loading skips missing and unexpected keys but still checks shapes")
    func nonStrict() throws {
        var g = SeededGenerator(seed: 1)
        let net = TestNetwork(generator: &g)
        try net.load(StateDict([("outc.conv.bias", Tensor(shape: [1], repeating: 3)), ("other", Tensor(shape: [2]))]),
                     strict: false)
        #expect(net.head.bias?.value.scalars == [3])
        #expect(throws: StateDictError.self) {
            try net.load(StateDict([("outc.conv.bias", Tensor(shape: [2]))]), strict: false)
        }
    }

    @Test("train() and eval() reach every descendant")
    func modes() {
        var g = SeededGenerator(seed: 1)
        let net = TestNetwork(generator: &g)
        net.eval()
        #expect(!net.isTraining && !net.block.bn.isTraining && !net.block.conv.isTraining && !net.head.isTraining)
        net.train()
        #expect(net.isTraining && net.block.bn.isTraining)
    }

    @Test("a state dict error stays one line whatever the file's keys hold")
    func errorIsOneLine() throws {
        var g = SeededGenerator(seed: 1)
        let net = TestNetwork(generator: &g)
        var broken = net.stateDict()
        for key in ["a\nb.weight", "c\u{1B}[2J", String(repeating: "k", count: 500)] { broken[key] = Tensor(shape: [1]) }
        let error = try #require(#expect(throws: StateDictError.self) { try net.load(broken) })
        #expect(!error.description.contains("\n") && !error.description.contains("\u{1B}"))
        #expect(error.description.contains("a\\nb.weight") && error.description.count < 400)
    }
}

