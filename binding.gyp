{
  "targets": [
    {
      "target_name": "bmlab_udp",
      "sources": ["bmc-emulator/native/udp.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
