package ndmp

const md5Known = "bc7d61077ebc1e1bf84a59827c26dd65"
