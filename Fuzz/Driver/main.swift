import Foundation
import FuzzHarnesses

// `unet-fuzz TARGET [libFuzzer options] [CORPUS...]` built by Fuzz/run.sh (with -DFUZZING, coverage and
// AddressSanitizer) runs libFuzzer on one target. Built plainly, `unet-fuzz TARGET FILE...` replays files
// through the target, as `make test` does with the regression corpus.

let arguments = CommandLine.arguments
guard arguments.count >= 2, let target = FuzzTarget(rawValue: arguments[1]) else {
    try? FileHandle.standardError.write(contentsOf: Data("usage: unet-fuzz TARGET ... (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))\n".utf8))
    exit(2)
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

nonisolated(unsafe) var selected = target
// libFuzzer reads its own options from argv: drop the target name.
var argv = [CommandLine.unsafeArgv[0]] + (2..<Int(CommandLine.argc)).map { CommandLine.unsafeArgv[$0] }
var argc = Int32(argv.count)
argv.append(nil)
let status = argv.withUnsafeMutableBufferPointer { buffer in
    var pointer = buffer.baseAddress!
    return LLVMFuzzerRunDriver(&argc, &pointer) { data, size in
        selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }
}
exit(status)
#else
var count = 0
for path in arguments.dropFirst(2) {
    guard let data = FileManager.default.contents(atPath: path) else {
        try? FileHandle.standardError.write(contentsOf: Data("unet-fuzz: cannot read \(path)\n".utf8))
        exit(1)
    }
    target.run([UInt8](data))
    count += 1
}
print("\(target.rawValue): \(count) input(s) replayed")
#endif
