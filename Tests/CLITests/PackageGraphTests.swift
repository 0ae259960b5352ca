import Foundation
import Testing

/// Package.swift against the sources: each target declares exactly the package targets and products it imports.
@Suite("Package graph")
struct PackageGraphTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every target of the manifest: name, folder (its `path:` or the convention), declared dependencies.
    static func targets() throws -> [(name: String, path: String, dependencies: Set<String>)] {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        var result: [(String, String, Set<String>)] = []
        for match in manifest.matches(of: /\.systemLibrary\(name: "([^"]+)"/) { result.append((String(match.1), "", [])) }
        var rest = manifest[...]
        while let start = rest.range(of: #"\.(target|executableTarget|testTarget)\("#, options: .regularExpression) {
            // The call's text, up to its closing parenthesis.
            var depth = 0
            var end = start.upperBound
            var index = rest.index(before: start.upperBound)
            while index < rest.endIndex {
                let character = rest[index]
                if character == "(" { depth += 1 }
                if character == ")" {
                    depth -= 1
                    if depth == 0 { end = rest.index(after: index); break }
                }
                index = rest.index(after: index)
            }
            let call = String(rest[start.lowerBound..<end])
            rest = rest[end...]
            guard let name = call.firstMatch(of: /name: "([^"]+)"/)?.1 else { continue }
            let kind = call.hasPrefix(".testTarget") ? "Tests" : "Sources"
            let path = call.firstMatch(of: /path: "([^"]+)"/).map { String($0.1) } ?? "\(kind)/\(name)"
            var dependencies = Set<String>()
            if let list = call.firstMatch(of: /dependencies: \[((?s).*?)\]/)?.1 {
                for match in list.matches(of: /"([^"]+)"/) { dependencies.insert(String(match.1)) }
                for match in list.matches(of: /\.product\(name: "([^"]+)"/) { dependencies.insert(String(match.1)) }
                // A product's package is not a dependency of its own.
                for match in list.matches(of: /package: "([^"]+)"/) { dependencies.remove(String(match.1)) }
            }
            dependencies.subtract(["swift-argument-parser"])
            result.append((String(name), path, dependencies))
        }
        return result
    }

    @Test("declared dependencies are the imports")
    func dependencies() throws {
        let targets = try Self.targets()
        let names = Set(targets.map(\.name)).union([
            "ArgumentParser", "SwiftProtobuf", "Hummingbird", "NIOCore", "Logging", "ServiceLifecycle", "Prometheus"])
        // Tests may depend on the executables they run (the CLI tests run `unet` and the library example).
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let executables = Set(manifest.matches(of: /\.executableTarget\(\s*name: "([^"]+)"/).map { String($0.1) })
        #expect(targets.count > 20)
        for target in targets where !target.path.isEmpty {
            let folder = Self.root.appendingPathComponent(target.path)
            var imported = Set<String>()
            let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
            for file in files where file.pathExtension == "swift" {
                let text = try String(contentsOf: file, encoding: .utf8)
                for match in text.matches(of: /(?m)^(?:@testable |@_exported )?import ([A-Za-z]+)/) where names.contains(String(match.1)) {
                    imported.insert(String(match.1))
                }
            }
            #expect(imported.subtracting(target.dependencies).isEmpty,
                    "\(target.name) imports \(imported.subtracting(target.dependencies).sorted()) without declaring them")
            let unused = target.dependencies.subtracting(imported).subtracting(executables)
            #expect(unused.isEmpty, "\(target.name) declares \(unused.sorted()) without importing them")
        }
    }
}
