"""sparkv_py: independent Python (numpy) references for sparkv's golden fixtures.

Modules: rng (splitmix64), quants (ggml block types), gguf_writer / gguf_reader,
safetensors_io, reference_model (float64 forward pass), hf_export, gguf_export,
tokenizer_bpe (tiny byte-level BPE vocab builder). See tools/pylib/README.md.
"""
