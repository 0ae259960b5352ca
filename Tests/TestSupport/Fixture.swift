import Checkpoints
import Foundation
import Tensors

/// A PyTorch reference case written by `scripts/make_fixtures.py`: named tensors plus the op's options.
public struct Fixture: Sendable {
    public let name: String
    public let file: SafeTensorsFile

    /// Loads `Fixtures/<name>.safetensors` from the test bundle (e.g. `"ops/conv2d_k3_p1_bias"`).
    public init(_ name: String) throws {
        guard let url = Bundle.module.url(forResource: "Fixtures/" + name, withExtension: "safetensors") else {
            throw FixtureError("fixture \(name) not found; run scripts/make_fixtures.py")
        }
        self.name = name
        file = try SafeTensorsFile.read(path: url.path)
    }

    /// The absolute path of a file in the fixtures folder, e.g. `Fixture.path("images/rgb.png")`.
    public static func path(_ relative: String) -> String {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/" + relative).path
    }

    /// The tensor under `key`, as float32.
    public func tensor(_ key: String) throws -> Tensor {
        guard let stored = file[key] else { throw FixtureError("fixture \(name) has no tensor '\(key)'") }
        return stored.floatTensor()
    }

    /// True when the fixture holds `key`.
    public func has(_ key: String) -> Bool { file[key] != nil }

    /// True when the metadata holds the option `key`.
    public func hasOption(_ key: String) -> Bool { file.metadata[key] != nil }

    /// An integer option from the metadata.
    public func int(_ key: String) throws -> Int {
        guard let text = file.metadata[key], let value = Int(text) else {
            throw FixtureError("fixture \(name) has no integer option '\(key)'")
        }
        return value
    }

    /// A string option from the metadata.
    public func string(_ key: String) throws -> String {
        guard let text = file.metadata[key] else { throw FixtureError("fixture \(name) has no option '\(key)'") }
        return text
    }
}

/// A fixture that is missing or lacks an expected entry.
public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
