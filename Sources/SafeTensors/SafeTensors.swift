// SafeTensors: read (mmap) and write .safetensors files.
