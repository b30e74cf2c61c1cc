"""The provincial relief platform (云南省政府救助平台): applications in, signed outcomes back, its keys."""
