// What tokenizer_config.json adds to tokenizer.json: the names of the bos/eos/pad/unk
// tokens and the chat template(s). Leaves out transformers-only switches (add_bos_token,
// clean_up_tokenization_spaces, model_max_length): ids follow tokenizer.json alone.

struct TokenizerConfig {
    var bosToken: String?
    var eosToken: String?
    var padToken: String?
    var unkToken: String?
    var chatTemplate: String?
    var namedChatTemplates: [String: String] = [:]

    init() {}

    init(_ j: JSONValue) throws {
        guard j.objectPairs != nil else { throw TokenizerError.invalidConfig("tokenizer_config.json is not an object") }
        // A token is a string or an AddedToken object {"content": ...}.
        func token(_ key: String) -> String? {
            guard let v = j[key] else { return nil }
            return v.string ?? v["content"]?.string
        }
        bosToken = token("bos_token")
        eosToken = token("eos_token")
        padToken = token("pad_token")
        unkToken = token("unk_token")
        switch j["chat_template"] {
        case .string(let s)?: chatTemplate = s
        case .array(let list)?:
            for item in list {
                guard let name = item["name"]?.string, let t = item["template"]?.string else {
                    throw TokenizerError.invalidConfig("chat_template list entry without name/template")
                }
                namedChatTemplates[name] = t
            }
            chatTemplate = namedChatTemplates["default"]
        case nil, .null?: break
        default: throw TokenizerError.invalidConfig("chat_template is neither a string nor a list")
        }
    }
}
