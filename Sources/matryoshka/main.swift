print("matryoshka")
