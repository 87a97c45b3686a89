// libFuzzer target: a Jinja chat template parsed and rendered with a small fixed context
// (two messages, the special-token variables, a tool), as apply_chat_template renders it.
// Thrown errors (including raise_exception) are accepted outcomes; only crashes count.
// Leaves out running time and output size: those are bounded by the template sandbox.
import FuzzSupport
import Tokenizers

/// Built per input, not held in a global: LeakSanitizer cannot follow the tagged pointers of
/// an indirect enum, so JinjaValues alive in a global at exit read as leaks (see lsan.supp).
private func makeContext() -> [String: JinjaValue] { [
    "messages": .list([
        .dict([("role", "system"), ("content", "Be brief.")]),
        .dict([("role", "user"), ("content", "Hi <b>there</b>")]),
        .dict([("role", "assistant"), ("content", "Hello!")]),
    ]),
    "tools": .list([.dict([("name", "get_time"), ("parameters", .dict([("type", "object")]))])]),
    "add_generation_prompt": true,
    "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
] }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJinja(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let source = FuzzInput.text(UnsafeRawBufferPointer(start: data, count: size))
    guard let template = try? ChatTemplate(source) else { return 0 }
    _ = try? template.render(makeContext())
    return 0
}
