import CDNNL

/// A oneDNN call that did not succeed. The message names the C function, e.g.
/// `oneDNN dnnl_primitive_desc_create (convolution forward) failed: unimplemented`.
public struct DNNLError: Error, CustomStringConvertible, Sendable {
    /// The `dnnl_*` function that failed, with the operation it served.
    public let call: String
    /// oneDNN's `dnnl_status_t` value.
    public let status: Int32

    public var description: String { "oneDNN \(call) failed: \(statusName)" }

    var statusName: String {
        switch status {
        case Int32(dnnl_out_of_memory.rawValue): return "out of memory"
        case Int32(dnnl_invalid_arguments.rawValue): return "invalid arguments"
        case Int32(dnnl_unimplemented.rawValue): return "unimplemented (no implementation for these shapes/types)"
        case Int32(dnnl_runtime_error.rawValue): return "runtime error"
        case Int32(dnnl_not_required.rawValue): return "not required"
        default: return "status \(status)"
        }
    }
}

/// Throws `DNNLError` unless `status` is `dnnl_success`. Every oneDNN C call goes through this.
@inline(__always)
func check(_ status: dnnl_status_t, _ call: @autoclosure () -> String) throws(DNNLError) {
    if status != dnnl_success {
        throw DNNLError(call: call(), status: Int32(status.rawValue))
    }
}
