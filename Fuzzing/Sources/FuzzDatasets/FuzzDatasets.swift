// libFuzzer target: JSONL text read as every dataset shape — SFT rows (prompt/completion,
// text, messages), preference rows (pairs and rated groups) and PPO prompt rows. Thrown
// DataErrors are accepted outcomes; only crashes count. Leaves out tokenizing the rows.
import Foundation
import Data
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDatasets(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Foundation.Data(UnsafeRawBufferPointer(start: data, count: size))
    _ = try? SFTRow.parse(bytes, file: "fuzz.jsonl")
    _ = try? PreferenceRow.parse(bytes, file: "fuzz.jsonl")
    _ = try? PromptRow.parse(bytes, file: "fuzz.jsonl")
    return 0
}
