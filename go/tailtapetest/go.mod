module tailtape/tailtapetest

go 1.26
