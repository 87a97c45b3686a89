// Tokenizers: tokenizer.json pipelines, identical to Hugging Face tokenizers.
