"""Generation: the paper's figures as arrays (`figures`) and their conversion to pictures (`viz`)."""
